# HW3 Q2: least-squares regression by full-batch gradient descent, gradients from backward().
# The seed's notebook code, verbatim except `import glassgrad as torch` in place of `import torch`
# (and the indentation of `train`, which the seed's page breaks split across cells).
import glassgrad as torch

x = torch.tensor([1.5420291, 1.8935232, 2.1603365, 2.5381863, 2.893443, \
                  3.838855, 3.925425, 4.2233696, 4.235571, 4.273397, \
                  4.9332876, 6.4704757, 6.517571, 6.87826, 7.0009003, \
                  7.035741, 7.278681, 7.7561755, 9.121138, 9.728281])
y = torch.tensor([63.802246, 80.036026, 91.4903, 108.28776, 122.781975, \
                  161.36314, 166.50816, 176.16772, 180.29395, 179.09758, \
                  206.21027, 272.71857, 272.24033, 289.54745, 293.8488, \
                  295.2281, 306.62274, 327.93243, 383.16296, 408.65967])

y = y.view(-1,1)

x = x.view(-1,1)
x2 = x * x

x_combined = torch.cat((x,x2), dim = 1)

#Model - Linear Regresssion

def linear_regression(x,w,b, bias):
    if bias:
        return torch.mm(x,w.T) + b
    else:
        return torch.mm(x,w.T)

#Loss Function

def mean_square_loss(y, yhat):
    error = yhat - y
    sum_square_loss = error.T@error
    return sum_square_loss/len(y)

#Updating the parameters

def sgd_step(params, param_grads, learning_rate):
    for param, param_grad in zip(params, param_grads):
        param -= learning_rate*param_grad

#Train Loop

def train(epochs, x,y, n_outs, bias, loss_function, log_interval, learning_rate):
    loss_epoch = []
    n_ins = x.shape[-1]
    w = torch.normal(0, 0.01, size=(n_outs, n_ins), requires_grad=True)
    b = torch.zeros(n_outs, requires_grad=True)
    if bias:
        params = (w, b)
    else:
        params = w

    for epoch in range(epochs):

        # Step1: forward pass
        y_hat = linear_regression(x, w, b, bias)

        # Step2 : Loss
        loss = loss_function(y_hat, y)
        loss.backward()

        #Calculate Gradients
        if bias:
            param_grads = (w.grad,b.grad)
        else:
            param_grads = w.grad

        # Update parameters
        with torch.no_grad():
            sgd_step(params, param_grads, learning_rate)

        if bias:
            w.grad.zero_()
            b.grad.zero_()
        else:
            w.grad.zero_()

        if(epoch % log_interval ==0):
            print(f'epoch: {epoch + 1} --> loss {loss.item()}')

    return (w, b)

# Model 1
loss_function = mean_square_loss
LEARNING_RATE = 0.0005
EPOCHS = 100000
LOG_INTERVAL= 10000
N_OUTS = 1
BIAS = True

w1, b1 = train(EPOCHS, x_combined, y, N_OUTS, BIAS, loss_function, LOG_INTERVAL, LEARNING_RATE)

print(f' Weights {w1}, \nBias: {b1}')

#Model 2

loss_function = mean_square_loss
LEARNING_RATE = 0.01
EPOCHS = 1000
LOG_INTERVAL = 100

N_OUTS = 1
BIAS = True

w2,b2 = train(EPOCHS, x, y, N_OUTS, BIAS, loss_function, LOG_INTERVAL, LEARNING_RATE)

print(f' Weights {w2}, \nBias: {b2}')

#Model 3

loss_function = mean_square_loss
LEARNING_RATE = 0.01
EPOCHS = 10
LOG_INTERVAL = 1
N_OUTS = 1
BIAS = False

w3, b3 = train(EPOCHS, x, y, N_OUTS, BIAS, loss_function, LOG_INTERVAL, LEARNING_RATE)

print(f' Weights {w3}, \nBias: {b3}')
